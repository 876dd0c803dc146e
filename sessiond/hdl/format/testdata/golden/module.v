// Verilog-2005: non-ANSI ports, always blocks without begin, function, task
`timescale 1ns / 1ps
`define DATA_W 8
`define MAX(a, b) \
      ((a) > (b) ? \
  (a) : (b))

module uart_tx (clk, rst, data, valid, tx, busy);
parameter CLK_DIV = 16;
   localparam CNT_W = 4;
input clk;
   input rst;
input [`DATA_W-1:0] data;
input valid;
output reg tx;
  output busy;

reg [CNT_W-1:0] cnt;
   reg [3:0] bit_idx;
wire tick;
  integer i;

assign tick = (cnt == CLK_DIV - 1);
assign busy = bit_idx != 0 ||
valid;

always @(posedge clk)
if (rst)
cnt <= 0;
else if (tick)
cnt <= 0;
else
cnt <= cnt + 1;

always @(posedge clk) begin
if (rst) begin
tx <= 1'b1;
bit_idx <= 0;
end
else begin
case (bit_idx)
4'd0: if (valid) bit_idx <= 1;
4'd9:
begin
tx <= 1'b1;
bit_idx <= 0;
end
default: begin
tx <= data[bit_idx - 1];
bit_idx <= bit_idx + 1;
end
endcase
end
end

function [7:0] parity;
input [7:0] d;
begin
parity = ^d;
end
endfunction

task send;
input [7:0] b;
begin
@(posedge clk);
  #1 $display("send %h   (%d)", b, b);
end
endtask

`ifdef UART_DEBUG
  always @(posedge clk)
      if (valid) $display("valid");
`else
initial
$display("no debug");
`endif

generate
genvar g;
for (g = 0; g < 2; g = g + 1) begin : gen_sync
reg s;
always @(posedge clk) s <= rst;
end
endgenerate

   endmodule
