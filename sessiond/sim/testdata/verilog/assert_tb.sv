// assert_tb: a failed immediate assertion with $error, and the simulation
// goes on to $finish (iverilog exits 0: the log decides).
`timescale 1ns/1ps
module assert_tb;
    reg clk = 0, rst = 1;
    wire [3:0] q;
    always #5 clk = ~clk;
    counter dut (.clk(clk), .rst(rst), .q(q));
    initial begin
        @(negedge clk) rst = 0;
        repeat (3) @(negedge clk);
        assert (q == 4'd4) else $error("q is %0d, want 4", q);
        $finish;
    end
endmodule
