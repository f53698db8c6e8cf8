#!/usr/bin/env bash
# Make the macOS disk image from the app bundle that packaging/build.py left in dist/:
#   bash packaging/macos/make_dmg.sh dist/Shipway.app VERSION dist
# (packaging/build.py --dmg runs exactly this). The image opens on the app and a link to
# /Applications, to drag it onto. With SHIPWAY_CODESIGN_IDENTITY set (a "Developer ID
# Application: ..." identity in the keychain), the app is signed with the hardened runtime first;
# notarising the signed image (xcrun notarytool submit ... --wait; xcrun stapler staple) is a
# separate step that needs an Apple developer account.
set -euo pipefail
if [ $# -ne 3 ]; then
    echo "usage: $0 APP VERSION OUTDIR" >&2
    exit 2
fi
app=$1
version=$2
out=$3
[ -d "$app/Contents/MacOS" ] || { echo "not an app bundle: $app" >&2; exit 1; }
command -v hdiutil >/dev/null || { echo "hdiutil not found: run this on macOS" >&2; exit 1; }

if [ -n "${SHIPWAY_CODESIGN_IDENTITY:-}" ]; then
    codesign --force --deep --options runtime --timestamp \
        --sign "$SHIPWAY_CODESIGN_IDENTITY" "$app"
    codesign --verify --strict --verbose=2 "$app"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
ditto "$app" "$stage/Shipway.app"
ln -s /Applications "$stage/Applications"
mkdir -p "$out"
image="$out/Shipway-$version.dmg"
hdiutil create -volname "Shipway $version" -srcfolder "$stage" -fs HFS+ \
    -format UDZO -imagekey zlib-level=9 -ov "$image"
hdiutil verify "$image"
echo "$image"
