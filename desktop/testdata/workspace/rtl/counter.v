module counter #(parameter WIDTH = 8) (input clk, output reg [WIDTH-1:0] count = 0);
  always @(posedge clk) count <= count + 1;
endmodule
