# The development environment of this repo: Gatewave sessions run terminals
# and builds inside it. Edit freely; Gatewave never overwrites this file.
{ pkgs ? import <nixpkgs> { } }:
pkgs.mkShell {
  packages = with pkgs; [
    yosys nextpnr icestorm iverilog verilator ghdl
    openfpgaloader dfu-util clang-tools gnumake git
  ];
}
