// How each schema type looks: colour, icon (inline SVG, shipped here) and a human label.

export const TYPE_COLOURS = {
  Person: "#1f6feb",
  Network: "#c2255c",
  Case: "#6f42c1",
  Company: "#0b7285",
  Seizure: "#e8590c",
  Asset: "#2f9e44",
  Location: "#8f6d00",
  Phone: "#495057",
  BankAccount: "#5c7cfa",
  Vehicle: "#868e96",
  CryptoWallet: "#f08c00",
  Email: "#15aabf",
};

const GLYPHS = {
  Person: '<circle cx="12" cy="8" r="4"/><path d="M4 21c0-4.4 3.6-7 8-7s8 2.6 8 7z"/>',
  Network: '<circle cx="12" cy="5" r="3"/><circle cx="5" cy="18" r="3"/><circle cx="19" cy="18" r="3"/>' +
    '<path d="M12 8v4M12 12 6.5 16M12 12l5.5 4" stroke="#fff" stroke-width="2" fill="none"/>',
  Case: '<path d="M3 6h7l2 2h9v12H3z"/>',
  Company: '<path d="M4 21V5l8-3v6l8-3v16z"/>',
  Seizure: '<path d="M12 2 3 7v6c0 5 4 8 9 9 5-1 9-4 9-9V7z"/>',
  Asset: '<path d="M12 3 3 9h18zM5 10h2v8H5zm6 0h2v8h-2zm6 0h2v8h-2zM3 19h18v2H3z"/>',
  Location: '<path d="M12 2a7 7 0 0 0-7 7c0 5 7 13 7 13s7-8 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 1 12 6a2.5 2.5 0 0 1 0 5.5z"/>',
  Phone: '<rect x="7" y="2" width="10" height="20" rx="2"/><rect x="9" y="5" width="6" height="11" fill="#0003"/>',
  BankAccount: '<rect x="2" y="5" width="20" height="14" rx="2"/><rect x="2" y="8" width="20" height="3" fill="#0004"/>',
  Vehicle: '<path d="M3 16v-4l2-5h14l2 5v4z"/><circle cx="7" cy="17" r="2"/><circle cx="17" cy="17" r="2"/>',
  CryptoWallet: '<circle cx="12" cy="12" r="9"/><path d="M9 7h5a2.5 2.5 0 0 1 0 5H9zm0 5h5.5a2.5 2.5 0 0 1 0 5H9z" ' +
    'fill="none" stroke="#0006" stroke-width="2"/>',
  Email: '<rect x="2" y="5" width="20" height="14" rx="2"/><path d="m3 6 9 7 9-7" fill="none" stroke="#0005" stroke-width="2"/>',
};

export function icon(type, fill = "#ffffff") {
  const glyph = GLYPHS[type] || '<circle cx="12" cy="12" r="6"/>';
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24" fill="${fill}">${glyph}</svg>`;
  return `data:image/svg+xml;utf8,${encodeURIComponent(svg)}`;
}

// Diagonal hatching for redacted stubs: a restricted item of another agency.
export const HATCH = "data:image/svg+xml;utf8," + encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48" viewBox="0 0 48 48">' +
  '<rect width="48" height="48" fill="#e9ecef"/>' +
  '<path d="M-12 12 12-12M-12 36 36-12M-12 60 60-12M12 60 60 12M36 60 60 36" stroke="#495057" stroke-width="5"/>' +
  "</svg>");

export function colour(type) {
  return TYPE_COLOURS[type] || "#495057";
}

/** A short human label for an entity, identifier or stub as the API returned it. */
export function label(node) {
  if (!node) return "—";
  if (node.redacted) return `restricted · ${node.owner_agency || "?"}`;
  const p = node.properties || {};
  if (node.value) return node.value;
  switch (node.type) {
    case "Person": {
      const name = [p.first_name, p.last_name].filter(Boolean).join(" ");
      const alias = Array.isArray(p.aliases) && p.aliases.length ? ` « ${p.aliases[0]} »` : "";
      return (name || node.ref || node.id) + alias;
    }
    case "Network":
    case "Company":
      return p.name || node.ref || node.id;
    case "Case":
      return p.reference || p.title || node.ref || node.id;
    case "Seizure":
      return [p.drug, p.quantity !== undefined ? `${p.quantity} ${p.unit || ""}`.trim() : null, p.date]
        .filter(Boolean).join(" · ") || node.ref || node.id;
    case "Asset":
    case "Location":
      return p.label || node.ref || node.id;
    default:
      return p.name || p.label || node.ref || node.id;
  }
}

export const IDENTIFIER_TYPES = ["Phone", "BankAccount", "Vehicle", "CryptoWallet", "Email"];
export const ENTITY_TYPES = ["Person", "Network", "Case", "Company", "Seizure", "Asset", "Location"];
