module missing_port (
    input  wire       clk,
    input  wire [7:0] d,
    output wire [7:0] q
);
    leaf u_leaf (.clk(clk), .d(d), .q(q), .bogus_pin(clk));
endmodule
