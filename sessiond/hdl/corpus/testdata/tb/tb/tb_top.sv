// tb_top.sv - top of the ALU testbench: clock, DUT, generator, driver and checker.
`timescale 1ns / 1ps

// Testbench top; run with --timing (delays and fork/join).
module tb_top;
    import tb_pkg::*;

    // Number of random transactions.
    localparam int N_TXN = 64;

    // Clock.
    logic         clk = 1'b0;
    // Reset, high for the first cycles.
    logic         rst = 1'b1;
    // DUT handshake and data.
    logic         in_valid = 1'b0;
    logic [1:0]   op = '0;
    logic [W-1:0] a = '0;
    logic [W-1:0] b = '0;
    logic         out_valid;
    logic [W-1:0] y;

    // Device under test.
    alu #(
        .W(W)
    ) u_dut (
        .clk      (clk),
        .rst      (rst),
        .in_valid (in_valid),
        .op       (op),
        .a        (a),
        .b        (b),
        .out_valid(out_valid),
        .y        (y)
    );

    // 100 MHz clock.
    initial forever #5 clk = ~clk;

    // Generator-to-driver channel.
    mailbox #(alu_txn) gen2drv = new();
    // Stimulus source; +smoke selects the smoke-test generator.
    generator gen;
    // Result checker.
    scoreboard sb = new();

    // Drives one transaction per cycle until all have been sent.
    task automatic drive();
        alu_txn t;
        for (int i = 0; i < N_TXN; i++) begin
            gen2drv.get(t);
            @(negedge clk);
            in_valid = 1'b1;
            op       = t.op;
            a        = t.a;
            b        = t.b;
            sb.sent(t);
        end
        @(negedge clk);
        in_valid = 1'b0;
    endtask

    // Feeds every DUT result to the scoreboard.
    always @(posedge clk) begin
        if (out_valid) sb.got(y);
    end

    initial begin
        if ($test$plusargs("smoke")) begin
            smoke_generator smoke = new(gen2drv, N_TXN);
            gen = smoke;
        end else begin
            gen = new(gen2drv, N_TXN);
        end
        repeat (3) @(posedge clk);
        rst = 1'b0;
        // Generator and driver run concurrently, joined by the mailbox.
        fork
            begin
                gen.run();
            end
            begin
                drive();
            end
        join
        repeat (4) @(posedge clk);
        if (sb.errors != 0 || sb.checked != N_TXN)
            $fatal(1, "FAIL: %0d errors, %0d of %0d checked", sb.errors, sb.checked, N_TXN);
        $display("PASS: %0d transactions", sb.checked);
        $finish;
    end

endmodule : tb_top
