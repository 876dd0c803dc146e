// Verilog-2005 testbench for the counter.
`timescale 1ns/1ps
module tb_counter;
    reg clk = 1'b0;
    reg rst_n;
    reg en;
    wire [3:0] count;
    wire wrap;
    wire delayed;
    event done;
    integer cycles;
    reg [7:0] grid [0:3][0:1];

    assign #(1, 2) delayed = wrap;

    counter #(.WIDTH(4)) dut (.clk(clk), .rst_n(rst_n), .en(en), .count(count), .wrap(wrap));
    defparam dut.INIT = 4'd0;

    always #5 clk = ~clk;

    function automatic signed [7:0] neg;
        input signed [7:0] v;
        neg = -v;
    endfunction

    task wait_cycles;
        input integer n;
        begin : wait_blk
            integer k;
            for (k = 0; k < n; k = k + 1)
                @(posedge clk);
        end
    endtask

    initial begin : main
        grid[0][1] = neg(8'sd5);
        rst_n = 1'b0;
        en = 1'b0;
        cycles = 0;
        wait_cycles(2);
        rst_n = 1'b1;
        en = 1'b1;
        fork
            wait_cycles(20);
            begin
                wait (wrap == 1'b1);
                -> done;
            end
        join
        @(done);
        $display("count=%0d at %0t", count, $time);
        $finish;
    end

    initial begin
        forever begin
            @(posedge clk);
            cycles = cycles + 1;
            if (cycles > 1000) disable main;
        end
    end
endmodule
