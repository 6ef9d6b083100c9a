#!/usr/bin/env bash
# Regenerates src/DinoSharp/Interop/Onnx/Onnx.g.cs from onnx.proto with the protoc of the Google.Protobuf.Tools
# NuGet package (restored into the NuGet cache by a throwaway project, so nothing is added to the solution).
# The generated file is checked in: building DinoSharp needs only the Google.Protobuf runtime package.
set -euo pipefail
cd "$(dirname "$0")/.."
version=3.36.2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/restore.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup>
  <ItemGroup><PackageReference Include="Google.Protobuf.Tools" Version="$version" /></ItemGroup>
</Project>
XML
dotnet restore "$tmp/restore.csproj" >/dev/null
tools="${NUGET_PACKAGES:-$HOME/.nuget/packages}/google.protobuf.tools/$version/tools"
protoc="$tools/linux_x64/protoc"
chmod +x "$protoc"   # NuGet does not keep the executable bit everywhere
dir=src/DinoSharp/Interop/Onnx
"$protoc" --proto_path="$dir" --csharp_out="$dir" --csharp_opt=file_extension=.g.cs,internal_access onnx.proto
echo "Wrote $dir/Onnx.g.cs"
