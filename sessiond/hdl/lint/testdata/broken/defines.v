`include "widths.vh"
// Needs IncludeDirs ["inc"] and the defines USE_INV and DEPTH_VAL; with
// them the one problem left is inv_only_sig, which only USE_INV compiles.
module defines (
    input  wire [`BUS_W-1:0] a,
    output wire [`BUS_W-1:0] y
);
`ifdef USE_INV
    assign y = ~a & inv_only_sig;
`else
    assign y = a;
`endif
    localparam integer DEPTH = `DEPTH_VAL;
    wire [DEPTH-1:0] depth_bits = a[DEPTH-1:0];
    wire unused_ok = &{1'b0, depth_bits};
endmodule
