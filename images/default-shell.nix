# Copy of cloud/githost/template/shell.nix (what new repos start with): the
# default environment the production image realises at build time.
{ pkgs ? import <nixpkgs> { } }:
pkgs.mkShell {
  packages = with pkgs; [
    yosys nextpnr icestorm iverilog verilator ghdl
    openfpgaloader dfu-util clang-tools gnumake git
  ];
}
