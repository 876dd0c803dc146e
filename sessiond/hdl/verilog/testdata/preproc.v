// Preprocessor coverage.
`timescale 1ns/1ps
`resetall
`celldefine
`endcelldefine
`define MAX(a, b) ((a) > (b) ? (a) : (b))
`define ADD(x, y = 1) ((x) + (y))
`define MULTI(n) \
    wire [n-1:0] multi_w; \
    assign multi_w = {n{1'b1}};
`define STR(x) `"x`"
`define ENABLE_FEATURE

module preproc (input [15:0] a, output [15:0] y, output [7:0] z);
`include "inc.vh"
    wire [`DATA_W-1:0] bus;
    assign bus = `MAX(a, 16'd3);
    `MULTI(4)
`ifdef ENABLE_FEATURE
  `ifdef NOT_DEFINED
    assign y = 16'd0;
  `elsif ENABLE_FEATURE
    assign y = `ADD(bus) + INC_DEPTH;
  `else
    assign y = 16'd1;
  `endif
`else
    this is not verilog at all
`endif
`ifndef ENABLE_FEATURE
    assign z = 8'd0;
`else
    assign z = `ADD(a[7:0], 8'd2);
`endif
    initial begin
        $display("%s line %0d", `__FILE__, `__LINE__);
        $display(`STR(hello));
    end
`undef ENABLE_FEATURE
`ifdef ENABLE_FEATURE
    wire never;
`endif
endmodule
