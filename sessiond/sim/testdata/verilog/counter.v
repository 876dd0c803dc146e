// counter: a 4-bit counter the testbenches check.
module counter (
    input  wire       clk,
    input  wire       rst,
    output reg  [3:0] q
);
    always @(posedge clk)
        if (rst) q <= 4'd0;
        else     q <= q + 4'd1;
endmodule
