#!/bin/sh
# Copy the browser libraries the console uses from node_modules to api/static/vendor.
set -eu
cd "$(dirname "$0")"
out=../static/vendor
mkdir -p "$out/swagger-ui"
cp node_modules/htmx.org/dist/htmx.min.js "$out/"
cp node_modules/echarts/dist/echarts.min.js "$out/"
for f in swagger-ui.css swagger-ui-bundle.js; do
  cp "node_modules/swagger-ui-dist/$f" "$out/swagger-ui/"
done
