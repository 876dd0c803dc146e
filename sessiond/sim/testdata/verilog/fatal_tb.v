// fatal_tb: expects the wrong count and stops with $fatal.
`timescale 1ns/1ps
module fatal_tb;
    reg clk = 0, rst = 1;
    wire [3:0] q;
    always #5 clk = ~clk;
    counter dut (.clk(clk), .rst(rst), .q(q));
    initial begin
        @(negedge clk) rst = 0;
        repeat (5) @(negedge clk);
        if (q !== 4'd6) $fatal(1, "q is %0d, want 6", q);
        $finish;
    end
endmodule
