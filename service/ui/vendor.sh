#!/bin/sh
# Copy the few dist files the web UI loads (Cytoscape.js, Chart.js, Leaflet), with their licences,
# from node_modules/ (after `npm ci` from the committed lock file) into static/vendor/.
# Used by ./run and by docker/Dockerfile. Run from service/ui/.
set -eu
vendor=static/vendor
rm -rf "$vendor" && mkdir -p "$vendor/images"
cp node_modules/cytoscape/dist/cytoscape.min.js node_modules/chart.js/dist/chart.umd.min.js \
   node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css "$vendor/"
cp node_modules/leaflet/dist/images/*.png "$vendor/images/"
for pkg in cytoscape chart.js leaflet; do
  cp node_modules/$pkg/LICENSE* "$vendor/LICENSE-$pkg" 2>/dev/null || true
done
