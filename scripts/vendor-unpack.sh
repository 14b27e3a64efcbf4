#!/usr/bin/env bash
# Places the upstream release sources of the subprojects/ fallbacks
# (json-c, libjwt) where their wraps look, for a machine that cannot
# download: checks each archive's sha256, unpacks it to
# subprojects/<directory>/ and adds our meson overlay
# (subprojects/packagefiles/<name>/), as meson does after a fetch. meson
# then uses the directory as it is (`meson setup --force-fallback-for=...`).
#
#   scripts/vendor-unpack.sh [VENDOR_DIR]    (default: ../shared/vendor)
#
# A relative VENDOR_DIR is taken from the source root. Without VENDOR_DIR
# (a lone clone) it says so and does nothing: the wraps then fetch from
# upstream when a fallback is needed. Re-running replaces the unpacked
# trees, so an edited overlay is picked up.
set -eu
cd "$(dirname "$0")/.."

vendor=${1:-../shared/vendor}
if [ ! -d "$vendor" ]; then
  echo "vendor-unpack: no $vendor; nothing to unpack (the wraps will fetch)"
  exit 0
fi

# archive, directory it unpacks to, wrap (and overlay) name, sha256
ARCHIVES="
json-c-0.18.tar.gz json-c-0.18 json-c 46f8d53531637ad5435e54a453d76f438a7fc74eeeecf89ab1e854d60a19a673
libjwt-1.18.4.tar.gz libjwt-1.18.4 libjwt ce5f5fa007ea14319caeb66bb239511d0d6e96923cc992ee886791ba0a989f6f
"

# Check every archive before touching subprojects/.
while read -r archive dir name sum; do
  [ -n "$archive" ] || continue
  path=$vendor/$archive
  [ -f "$path" ] || { echo "vendor-unpack: missing $path" >&2; exit 1; }
  echo "$sum  $path" | sha256sum --check --quiet - ||
    { echo "vendor-unpack: $path: sha256 mismatch" >&2; exit 1; }
  grep -q "^directory = $dir\$" "subprojects/$name.wrap" ||
    { echo "vendor-unpack: subprojects/$name.wrap names another directory" >&2
      exit 1; }
done <<<"$ARCHIVES"

tmp=""
trap 'rm -rf "$tmp"' EXIT
while read -r archive dir name sum; do
  [ -n "$archive" ] || continue
  tmp=$(mktemp -d subprojects/.unpack.XXXXXX)
  tar -xzf "$vendor/$archive" -C "$tmp"
  [ -d "$tmp/$dir" ] ||
    { echo "vendor-unpack: $archive has no $dir/" >&2; exit 1; }
  cp -R "subprojects/packagefiles/$name/." "$tmp/$dir/"
  rm -rf "subprojects/$dir"
  mv "$tmp/$dir" "subprojects/$dir"
  rm -rf "$tmp"
  echo "vendor-unpack: subprojects/$dir (from $archive, sha256 checked)"
done <<<"$ARCHIVES"
