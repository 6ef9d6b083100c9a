#!/usr/bin/env bash
# Packs the library and builds two consumer projects outside the repository (called by scripts/test.sh):
#   1. the DinoSharp package alone: restores and builds with no libtorch native package pulled in;
#   2. the package plus libtorch-cpu-linux-x64: runs the README's C# example on a small run folder, which needs the
#      Debian 12 fix (build-transitive target) to load TorchSharp's native library.
# Needs the solution built (the `dino` CLI trains the run folder). Prints one line per check; exits 1 on a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
dino="$repo/src/DinoSharp.Cli/bin/Release/net10.0/linux-x64/dino"
[ -x "$dino" ] || { echo "check-package: build the solution first (dotnet build DinoSharp.slnx -c Release)" >&2; exit 1; }
work=$(mktemp -d)
version="0.0.0-check.$(date +%s).$$"
cleanup() { rm -rf "$work" "${NUGET_PACKAGES:-$HOME/.nuget/packages}/dinosharp/$version"; }
trap cleanup EXIT

dotnet pack src/DinoSharp -c Release -o "$work/feed" -p:Version="$version" -nologo -v quiet >"$work/pack.log" 2>&1 \
  || { cat "$work/pack.log"; echo "check-package: dotnet pack failed" >&2; exit 1; }
unzip -l "$work/feed/DinoSharp.$version.nupkg" | grep "buildTransitive/DinoSharp.targets" > /dev/null \
  || { echo "check-package: the package lacks buildTransitive/DinoSharp.targets" >&2; exit 1; }
cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$work/feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
</configuration>
XML

consumer() {  # name, extra package references
  mkdir -p "$work/$1"
  cat > "$work/$1/$1.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="DinoSharp" Version="$version" />
    $2
  </ItemGroup>
</Project>
XML
}

# 1. The library alone.
consumer LibraryOnly ""
echo 'System.Console.WriteLine(typeof(DinoSharp.Models.ModelResolver).Assembly.GetName().Name);' > "$work/LibraryOnly/Program.cs"
(cd "$work/LibraryOnly" && dotnet build -c Release -nologo -v quiet >"$work/only.log" 2>&1) \
  || { cat "$work/only.log"; echo "check-package: a project referencing only the DinoSharp package does not build" >&2; exit 1; }
if grep -qi '"libtorch-' "$work/LibraryOnly/obj/project.assets.json"; then
  echo "check-package: the DinoSharp package pulls in a libtorch native package:" >&2
  grep -io '"libtorch-[^"]*"' "$work/LibraryOnly/obj/project.assets.json" | sort -u >&2
  exit 1
fi
echo "check-package: a project with only the DinoSharp package builds, no libtorch native package pulled in"

# 2. With the CPU natives: the README's C# example, verbatim, on a 2-step run folder and two images.
consumer ReadmeExample '<PackageReference Include="libtorch-cpu-linux-x64" Version="2.10.0" />'
awk '/^```csharp$/ { on = 1; next } /^```$/ { if (on) exit } on' README.md > "$work/ReadmeExample/Program.cs"
grep -q "ModelResolver.Open" "$work/ReadmeExample/Program.cs" || { echo "check-package: no C# example found in README.md" >&2; exit 1; }
cd "$work/ReadmeExample"
# A 2-step run folder on 16 random 28×28 grey images (an IDX file written here), as `dino train` writes it.
python3 - "$work/images.idx" <<'PY'
import os, struct, sys
n, side = 16, 28
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack(">BBBBiii", 0, 0, 8, 3, n, side, side) + os.urandom(n * side * side))
PY
"$dino" train --steps 2 --threads 1 --quiet --out runs/fmnist --data idx:"$work/images.idx" \
  --set student.arch=vit_pico_p7 --set crops.local_crops_number=2 --set dino.head_n_prototypes=32 \
  --set ibot.head_n_prototypes=32 --set train.batch_size=8 --set train.knn_every=0 --set train.num_workers=1 \
  >"$work/train.log" 2>&1 < /dev/null || { cat "$work/train.log"; echo "check-package: dino train failed" >&2; exit 1; }
# Two PNG images for the example to compare.
python3 - <<'PY'
import struct, zlib
def png(path, shade):
    w = h = 28
    raw = b"".join(b"\x00" + bytes(((x * shade + y * 3) % 256) for x in range(w)) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
png("shoe1.png", 5)
png("shoe2.png", 7)
PY
dotnet build -c Release -nologo -v quiet >"$work/example.log" 2>&1 \
  || { cat "$work/example.log"; echo "check-package: the README example does not build against the package" >&2; exit 1; }
output=$(dotnet run -c Release --no-build 2>&1) || { echo "$output"; echo "check-package: the README example failed" >&2; exit 1; }
grep "^cosine similarity: " <<< "$output" > /dev/null || { echo "$output"; echo "check-package: unexpected output from the README example" >&2; exit 1; }
echo "check-package: the README's C# example runs against the package with the CPU natives ($output)"
