module unknown_module (
    input  wire       clk,
    input  wire [7:0] d,
    output wire [7:0] q
);
    nosuch_block u_missing (.clk(clk), .d(d), .q(q));
endmodule
