// pass_tb: the counter counts; the testbench passes and dumps waves.
`timescale 1ns/1ps
module pass_tb;
    reg clk = 0, rst = 1;
    wire [3:0] q;
    always #5 clk = ~clk;
    counter dut (.clk(clk), .rst(rst), .q(q));
    initial begin
        $dumpfile("build/pass_tb.vcd");
        $dumpvars(0, pass_tb);
        @(negedge clk) rst = 0;
        repeat (5) @(negedge clk);
        if (q !== 4'd5) $fatal(1, "q is %0d, want 5", q);
        $display("pass_tb: PASS");
        $finish;
    end
endmodule
