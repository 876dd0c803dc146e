#!/bin/sh
# capture.sh regenerates the captured tool outputs (testdata/*.out) the
# Parse tests read, with the flags Run uses. Captured with verilator 5.006,
# Icarus Verilog 11.0, Yosys 0.23 and GHDL 2.0.0 (Debian bookworm).
set -u
cd "$(dirname "$0")/broken" || exit 1
V="verilator --lint-only -Wall -Wno-fatal --timing --error-limit 1000"
I="iverilog -t null -Wall"
Y="yosys -q -p"
G="ghdl -s --std=08 -Wunused --workdir=/tmp"
cap() { out=../$1.out; shift; "$@" >"$out" 2>&1; }
cap verilator_unknown_module $V -Wno-MULTITOP unknown_module.v
cap verilator_multitop       $V unknown_module.v leaf.v
cap verilator_missing_port   $V -Wno-MULTITOP missing_port.v leaf.v
cap verilator_width          $V -Wno-MULTITOP width.v
cap verilator_undeclared     $V -Wno-MULTITOP undeclared.v
cap verilator_syntax         $V -Wno-MULTITOP syntax.v
cap verilator_unused         $V -Wno-MULTITOP unused.v
cap verilator_comment_shift  $V -Wno-MULTITOP comment_shift.v
cap verilator_defines        $V -Wno-MULTITOP defines.v
cap verilator_include_note  $V -Wno-MULTITOP -I../outside include_outside.v
cap iverilog_unknown_module  $I unknown_module.v
cap iverilog_missing_port    $I missing_port.v leaf.v
cap iverilog_undeclared      $I undeclared.v
cap iverilog_syntax          $I syntax.v
cap iverilog_defines         $I defines.v
cap iverilog_port_width      $I port_width.v leaf.v
cap iverilog_include_note   $I -I../outside include_outside.v
cap yosys_unknown_module     $Y 'read_verilog unknown_module.v; hierarchy -check'
cap yosys_missing_port       $Y 'read_verilog missing_port.v; read_verilog leaf.v; hierarchy -check'
cap yosys_undeclared         $Y 'read_verilog undeclared.v; hierarchy -check'
cap yosys_syntax             $Y 'read_verilog syntax.v; hierarchy -check'
cap yosys_defines            $Y 'read_verilog defines.v; hierarchy -check'
cap yosys_reg_assign         $Y 'read_verilog reg_assign.v; hierarchy -check'
cap ghdl_type_error          $G type_error.vhd
cap ghdl_unknown_signal      $G unknown_signal.vhd
cap ghdl_hides               $G hides.vhd
