#!/bin/sh
# Copy the few dist files the web UI loads (Cytoscape.js, Chart.js, Leaflet, vis-timeline), with their licences,
# from node_modules/ (after `npm ci` from the committed lock file) into static/vendor/.
# Used by ./run and by docker/Dockerfile. Run from service/ui/.
set -eu
vendor=static/vendor
rm -rf "$vendor" && mkdir -p "$vendor/images"
cp node_modules/cytoscape/dist/cytoscape.min.js node_modules/chart.js/dist/chart.umd.min.js \
   node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css "$vendor/"
# vis-timeline's standalone build bundles its peers (vis-data, moment, hammer) and injects its own CSS.
cp node_modules/vis-timeline/standalone/umd/vis-timeline-graph2d.min.js "$vendor/"
cp node_modules/leaflet/dist/images/*.png "$vendor/images/"
for pkg in cytoscape chart.js leaflet vis-timeline; do
  # cat, not cp: a package may ship several licence files (vis-timeline: its choice of MIT or Apache-2.0)
  cat node_modules/$pkg/LICENSE* > "$vendor/LICENSE-$pkg" 2>/dev/null || true
done
