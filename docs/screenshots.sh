#!/bin/bash
# Regenerates the README's pictures (docs/edit-dialog.png, docs/result-with-info.png) in the Fiji-like
# runtime of shared/fiji-runtime, on a 1366x768 Xvfb screen, with the plugin built from this tree.
# usage: docs/screenshots.sh FIJI_APP_DIR   (provider settings from the environment, e.g. an emulator:
#        DASHSCOPE_API_KEY=... DASHSCOPE_BASE_URL=http://127.0.0.1:PORT docs/screenshots.sh /path/Fiji.app)
set -euo pipefail
app=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $xvfb 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$repo" && mvn -B -q package -DskipTests)
cp "$repo"/target/Qwen_Image_Edit-*-SNAPSHOT.jar "$app/plugins/"
javac -d "$work/classes" -cp "$app/jars/*" "$repo/docs/screenshots/GuiDriver.java"
sed "s|OUT/|$repo/docs/|" "$repo/docs/screenshots/pictures.steps" >"$work/steps"
display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 1366x768x24 >/dev/null 2>&1 & xvfb=$!
sleep 2
cd "$app"
DISPLAY=$display timeout 300 java -Djava.util.prefs.userRoot="$work/prefs" -Duser.home="$work/home" \
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED \
  --add-opens=java.desktop/sun.awt=ALL-UNNAMED --add-opens=java.desktop/javax.swing=ALL-UNNAMED \
  --add-opens=java.desktop/java.awt=ALL-UNNAMED -Dij.dir="$app" -Dimagej.dir="$app" \
  -Dscijava.app.directory="$app" -Dplugins.dir="$app" \
  -cp "$work/classes:$app/jars/*:$app/plugins/*" GuiDriver "$work/steps"
