module bench;
  localparam int LANES = 64;
  logic clk = 0;
  logic [31:0] cyc = 0;
  int cycles;
  for (genvar g = 0; g < LANES; g++) begin : lane
    logic [15:0] lfsr = 16'(g * 977 + 1);
    wire bit0 = lfsr[0];
    always @(posedge clk) lfsr <= {lfsr[14:0], lfsr[15] ^ lfsr[13] ^ lfsr[12] ^ lfsr[10]};
  end
  always #1 clk = ~clk;
  always @(posedge clk) cyc <= cyc + 1;
  initial begin
    if (!$value$plusargs("cycles=%d", cycles)) cycles = 1000;
    $dumpfile("bench.vcd");
    $dumpvars(0, bench);
    repeat (cycles) @(posedge clk);
    $finish;
  end
endmodule
