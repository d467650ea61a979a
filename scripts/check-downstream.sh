#!/usr/bin/env bash
# Checks that another package can depend on Latent by version and use it (issue 13): the
# working tree is committed into a scratch git repository tagged 1.0.0, a package that
# depends on it with `.package(url: ..., from: "1.0.0")` is created beside it, built, and run.
# SwiftPM refuses a versioned dependency whose targets use unsafe flags, so this also
# proves Package.swift has none (checked first, for a clear message).
#
#   scripts/check-downstream.sh [SCRATCH]    (default: .build/downstream; kept between runs)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${1:-$root/.build/downstream}"
if grep -n "unsafeFlags" "$root/Package.swift"; then
    echo "check-downstream: Package.swift uses unsafeFlags; packages depending on Latent by version cannot build" >&2
    exit 1
fi
mkdir -p "$scratch"
library="$scratch/latent-library"
rm -rf "$library"
mkdir -p "$library"
# The working tree as it is (tracked and new files, not ignored ones), as version 1.0.0.
(cd "$root" && git ls-files -z --cached --others --exclude-standard) | (cd "$root" && xargs -0 cp --parents -t "$library")
(
    cd "$library"
    git init -q
    git -c user.name=latent -c user.email=latent@localhost add -A
    git -c user.name=latent -c user.email=latent@localhost commit -q -m "Latent as of $(cd "$root" && git rev-parse --short HEAD)"
    git tag 1.0.0
)
app="$scratch/downstream"
mkdir -p "$app/Sources/Downstream"
cat > "$app/Package.swift" <<SWIFT
// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Downstream",
    platforms: [.macOS(.v15)],
    dependencies: [.package(url: "file://$library", from: "1.0.0")],
    targets: [.executableTarget(name: "Downstream", dependencies: [.product(name: "Latent", package: "latent-library")])],
    swiftLanguageModes: [.v6]
)
SWIFT
cat > "$app/Sources/Downstream/main.swift" <<'SWIFT'
import Latent

// The original's example, through the library as another package uses it.
let (vocabulary, corpus) = DeerwesterExample.corpus()
let lsi = try await LSIModel(corpus: corpus, vocabulary: vocabulary, topics: 2, chunkSize: 1)
print(try lsi.formattedTopic(0, top: 5))
print("kernels: \(Kernels.instructionSet)")
SWIFT
rm -f "$app/Package.resolved"
cd "$app"
swift build --product Downstream >&2
output="$(.build/debug/Downstream)"
echo "$output"
case "$output" in
    *'0.644*"system" + 0.404*"user" + 0.301*"eps"'*) echo "check-downstream: a package depending on Latent 1.0.0 built and ran" ;;
    *) echo "check-downstream: unexpected output" >&2; exit 1 ;;
esac
