// tb_pkg.sv - transaction classes, generator and scoreboard for the ALU bench.
`timescale 1ns / 1ps

// Verification components of the ALU testbench.
package tb_pkg;

    // Operand width shared with the DUT instance.
    localparam int W = 16;

    `include "alu_txn.svh"
    `include "generator.svh"
    `include "smoke_generator.svh"
    `include "scoreboard.svh"

endpackage : tb_pkg
