module half (
input logic clk,
output logic q
// still typing the port list
always_ff @(posedge clk) begin
if (q
q <= 1;
end
endmodule
module next_one;
  assign x = {a,
b};
endmodule
