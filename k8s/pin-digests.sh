#!/usr/bin/env sh
# Resolve the pinned base images to their digests and write them in: the Dockerfile's
# `FROM python:<version>-slim-bookworm` lines and MongoDB's `digest:` in an overlay. Needs a
# reachable registry and `crane` (go-containerregistry) or `docker buildx imagetools`.
# Usage: k8s/pin-digests.sh [OVERLAY] (default k8s/overlays/prod). Review the diff, commit it.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
overlay="${1:-$root/k8s/overlays/prod}"

digest() {
    if command -v crane >/dev/null 2>&1; then
        crane digest "$1"
    else
        docker buildx imagetools inspect "$1" --format '{{json .Manifest.Digest}}' | tr -d '"'
    fi
}

# python base: every FROM of the same release gets the same digest.
python_ref=$(sed -n 's/^FROM \(python:[^@ ]*\).*/\1/p' "$root/Dockerfile" | sort -u)
[ "$(printf '%s\n' "$python_ref" | wc -l)" -eq 1 ] || { echo "several python bases" >&2; exit 1; }
python_digest=$(digest "$python_ref")
sed -i "s#^FROM $python_ref\(@sha256:[0-9a-f]*\)\{0,1\} #FROM $python_ref@$python_digest #" \
    "$root/Dockerfile"
echo "$python_ref@$python_digest"

# mongo: the exact version the base names, its digest recorded in the overlay's images:.
mongo_ref=$(sed -n 's/^ *image: \(mongo:[^@ ]*\).*/\1/p' "$root/k8s/base/mongodb/mongodb-statefulset.yaml")
mongo_digest=$(digest "$mongo_ref")
(cd "$overlay" && sed -i "/^  - name: mongo$/,/^  - /{/^    digest:/d}" kustomization.yaml \
    && sed -i "s/^\(  - name: mongo\)$/\1\n    digest: $mongo_digest/" kustomization.yaml)
echo "$mongo_ref@$mongo_digest"
