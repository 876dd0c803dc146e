# Builds this repo's bitstream reproducibly: nix-build puts build/blinky.bin
# in ./result. Gatewave never overwrites this file.
{ pkgs ? import <nixpkgs> { } }:
pkgs.stdenv.mkDerivation {
  pname = "blinky";
  version = "0.1.0";
  src = ./.;
  nativeBuildInputs = with pkgs; [ yosys nextpnr icestorm gnumake ];
  buildPhase = "make";
  installPhase = "mkdir -p $out && cp build/*.bin $out/";
}
