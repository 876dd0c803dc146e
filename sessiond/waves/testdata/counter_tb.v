// A small design for the reader tests: a counter three scopes deep,
// x and z values, a real, aliased nets and an escaped name.
`timescale 1ns/1ps

module leaf(input wire clk, input wire [7:0] d, output reg [7:0] q, output wire [3:0] tri_out);
  reg en = 1'bx;
  assign tri_out = en ? d[3:0] : 4'bzzzz;
  always @(posedge clk) begin
    q <= d ^ 8'h5a;
    en <= d[0];
  end
endmodule

module mid(input wire clk, input wire [7:0] d, output wire [7:0] q);
  wire [3:0] t;
  leaf u_leaf(.clk(clk), .d(d), .q(q), .tri_out(t));
endmodule

module counter(input wire clk, input wire rst, output reg [7:0] count);
  wire [7:0] scrambled;
  mid u_mid(.clk(clk), .d(count), .q(scrambled));
  always @(posedge clk) begin
    if (rst) count <= 8'd0;
    else count <= count + 8'd1;
  end
endmodule

module tb;
  reg clk = 0;
  reg rst = 1;
  wire [7:0] count;
  reg [15:0] wide;
  real phase = 0.0;
  integer cycles = 0;
  wire \weird.name = count[0];
  event tick;
  counter dut(.clk(clk), .rst(rst), .count(count));
  always #5 clk = ~clk;
  always @(posedge clk) begin
    cycles = cycles + 1;
    phase = phase + 0.125;
    -> tick;
  end
  initial begin
    wide = 16'hxxxx;
    #12 rst = 0;
    #20 wide = 16'h0z1x;
    #20 wide = 16'hbeef;
  end
  initial begin
    $dumpfile("tb.vcd");
    $dumpvars(0, tb);
    #400 $finish;
  end
endmodule
