// blinky_tb: simulates blinky with the iCEstick's 12 MHz clock and checks
// the LED ring. A full step of the ring takes 2^24 clocks (1.4 s of board
// time), too long to simulate, so the testbench sets the counter just short
// of wrapping and checks that the lit LED moves exactly then, one place
// round the five LEDs, and stays put otherwise.
//
// Run it from the IDE (Simulate) or: iverilog -g2012 -o build/blinky_tb -s blinky_tb blinky.v blinky_tb.v && vvp build/blinky_tb
`timescale 1ns/1ps
module blinky_tb;
    localparam real PERIOD = 83.333; // ns: 12 MHz

    reg clk = 0;
    always #(PERIOD / 2) clk = ~clk;

    wire [4:0] led;
    blinky dut (.clk(clk), .led(led));

    integer step;
    reg [4:0] want;

    // check stops the simulation with $fatal when led is not what it should be.
    task check(input [4:0] expected, input [8*40-1:0] what);
        if (led !== expected)
            $fatal(1, "%0s: led is %b, want %b (t=%0t)", what, led, expected, $time);
    endtask

    initial begin
        $dumpfile("build/blinky_tb.vcd");
        $dumpvars(0, blinky_tb);

        // From power-up the first LED is lit and the counter counts clocks.
        @(negedge clk);
        check(5'b00001, "at start");
        repeat (100) @(negedge clk);
        if (dut.counter !== 24'd101)
            $fatal(1, "counter is %0d after 101 clocks, want 101", dut.counter);
        check(5'b00001, "after 101 clocks");

        // Seven steps: once round the ring and two more.
        want = 5'b00001;
        for (step = 1; step <= 7; step = step + 1) begin
            dut.counter = 24'hfffffd; // three clocks before it wraps
            @(negedge clk);
            @(negedge clk);
            check(want, "before the counter wraps");
            @(negedge clk);
            want = {want[3:0], want[4]};
            check(want, "after the counter wraps");
            if (dut.counter !== 24'd0)
                $fatal(1, "counter is %0d after wrapping, want 0", dut.counter);
            repeat (5) @(negedge clk);
            check(want, "five clocks after the step");
        end
        if (want !== 5'b00100)
            $fatal(1, "ring ended at %b, want 00100 after seven steps", want);

        $display("blinky_tb: PASS, the ring stepped 7 times, one LED lit at a time");
        $finish;
    end
endmodule
