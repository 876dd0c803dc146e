module sv_top import cfg_pkg::*; (input logic clk, bus_if.master bus);
  byte_t r;
  always_ff @(posedge clk) r <= r + 1;
  assign bus.data = r;
  assign bus.valid = 1'b1;
endmodule
