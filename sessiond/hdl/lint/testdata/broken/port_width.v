`timescale 1ns/1ps
module port_width (
    input  wire       clk,
    input  wire [3:0] d4,
    output wire [7:0] q
);
    leaf u_narrow (.clk(clk), .d(d4), .q(q));
endmodule
