// Simple up counter with synchronous enable.
`timescale 1ns / 1ps
`default_nettype none

/* Counter: counts up when en is high.
 * Wraps around at 2**WIDTH. */
module counter #(
    parameter WIDTH = 8,          // counter width
    parameter [WIDTH-1:0] INIT = {WIDTH{1'b0}}
) (
    input  wire             clk,   // clock
    input  wire             rst_n, // active-low reset
    input  wire             en,
    output reg  [WIDTH-1:0] count,
    output wire             wrap
);
    localparam MAX = {WIDTH{1'b1}};

    assign wrap = en && (count == MAX);

    always @(posedge clk or negedge rst_n) begin
        if (!rst_n)
            count <= INIT;
        else if (en)
            count <= count + 1'b1;
    end
endmodule

`default_nettype wire
