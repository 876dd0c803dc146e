// Top level: blink an LED from the counter's top bit.
module top (input clk, output led);
  wire [23:0] count;
  counter #(.WIDTH(24)) c (.clk(clk), .count(count));
  assign led = count[23];
endmodule
