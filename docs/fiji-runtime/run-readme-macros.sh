#!/usr/bin/env bash
# Runs the README's macros, exactly as the README writes them, headless in a Fiji-like runtime
# against the local provider emulators: what a user meets, outside the test suite (imagej-legacy,
# which runs SciJava commands from ImageJ macros in Fiji, is not on Maven Central, so CI cannot).
#
#   docs/fiji-runtime/run-readme-macros.sh /path/to/Fiji.app
#
# The runtime comes from shared/fiji-runtime/build-runtime.sh (see its README). The plugin is built
# and installed into the runtime first. Prints one line per check and ends with "N passed, N failed".
set -euo pipefail
app=${1:?usage: $0 /path/to/Fiji.app}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'kill "${emulators:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$repo"
# Installed the README's way: the plugin and the libraries it needs that Fiji lacks (Jackson, OkHttp),
# which a copy of the plugin's jar alone would leave out.
mvn -B -q -Dstyle.color=never -Dscijava.app.directory="$app" -DskipTests install
mvn -B -q -Dstyle.color=never dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" -Dmdep.includeScope=test >/dev/null
java -cp "target/test-classes:target/classes:$(cat "$work/cp.txt")" io.github.qwenedit.emulator.RunEmulators 500 \
	>"$work/env" 2>"$work/emulators.log" &
emulators=$!
for _ in $(seq 1 60); do grep -q 'emulators ready' "$work/env" 2>/dev/null && break; sleep 1; done
# shellcheck disable=SC1091
source <(grep '^export ' "$work/env")
# Fiji's own preferences stay apart from the user's.
export JAVA_OPTS="-Djava.util.prefs.userRoot=$work/prefs -Duser.home=$work/home"
passed=0 failed=0
check() { # name, expected text, output
	if grep -qF -- "$2" <<<"$3"; then passed=$((passed + 1)); echo "ok   $1"
	else failed=$((failed + 1)); echo "FAIL $1: expected '$2' in:"; sed 's/^/     /' <<<"$3"; fi
}
refute() { # name, text that must not appear, output
	if grep -qF -- "$2" <<<"$3"; then failed=$((failed + 1)); echo "FAIL $1: '$2' in:"; sed 's/^/     /' <<<"$3"
	else passed=$((passed + 1)); echo "ok   $1"; fi
}
readme_line() { grep -o "run(\"$1\", \"[^\"]*\");" README.md | head -1; }
fiji() { (cd "$app" && timeout 300 ./ImageJ-linux64 --headless --console "$@" 2>&1) || true; }

mkdir -p "$work/in" "$work/out" "$work/batch"
printf 'for (i = 0; i < 3; i++) { newImage("cells_" + i, "8-bit noise", 300 + 10 * i, 300, 1); saveAs("Tiff", "%s/cells_" + i + ".tif"); close(); }\n' \
	"$work/in" >"$work/make-inputs.ijm"
fiji -batch "$work/make-inputs.ijm" >/dev/null

{ echo 'newImage("cells", "8-bit ramp", 256, 256, 1);'; readme_line "Edit Images..."
  sed -n '/^print(Property.get("QwenEdit.Model"));$/,/^```$/p' README.md | grep -v '^```'
  echo 'print("current: " + getTitle());'; } >"$work/single.ijm"
out=$(fiji -batch "$work/single.ijm")
check "single edit line, headless: the result is current" "current: AI-edit 1 of cells" "$out"
check "single edit line, headless: provenance reads back" "qwen-image-2.0" "$out"

sed -n '/^#@ File (style="directory") input$/,/^}$/p' README.md >"$work/edit-folder.ijm"
fiji --run "$work/edit-folder.ijm" "input=\"$work/in\",output=\"$work/out\"" >/dev/null
printf 'list = getFileList("%s/"); for (i = 0; i < list.length; i++) { if (endsWith(list[i], ".tif")) { open("%s/" + list[i]); print(list[i] + " <- " + Property.get("QwenEdit.Source1.Title")); close(); } }\n' \
	"$work/out" "$work/out" >"$work/list.ijm"
out=$(fiji -batch "$work/list.ijm")
for i in 0 1 2; do
	check "folder macro: cells_$i.tif edited from itself" "AI-edit_1_of_cells_$i.tif <- cells_$i.tif" "$out"
done
refute "folder macro: no edit of an earlier result" "AI-edit_1_of_AI-edit" "$out"

readme_line "Edit Images (Batch)..." | sed "s|/path/to/images|$work/in|; s|/path/to/results|$work/batch|" >"$work/batch.ijm"
out=$(fiji --run "$work/batch.ijm")
check "batch line: every file done" "3 done, 0 failed" "$out"
readme_line "Recover Unfinished Edits..." | sed "s|/path/to/results|$work/batch|" >"$work/recover.ijm"
out=$(fiji --run "$work/recover.ijm")
check "recover line: runs and reports" "No unfinished edits were found" "$out"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
