// leaf is a small well-formed module the broken files instantiate.
module leaf (
    input  wire       clk,
    input  wire [7:0] d,
    output reg  [7:0] q
);
    always @(posedge clk) q <= d;
endmodule
