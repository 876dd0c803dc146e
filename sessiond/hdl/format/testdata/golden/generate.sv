module gen_top #(
parameter int N = 4,
    parameter bit USE_FF = 1
) (
input logic clk,
input logic [N-1:0] d,
output logic [N-1:0] q
);
for (genvar i = 0; i < N; i++) begin : g_lane
if (USE_FF) begin : g_ff
always_ff @(posedge clk) q[i] <= d[i];
end else begin : g_wire
assign q[i] = d[i];
end
end

generate
case (N)
1: begin : g_one
sub u_sub (.clk(clk), .d(d[0]));
end
default: begin : g_many
sub #(
.W(N),
.DEPTH (2)
) u_sub (
.clk (clk),
.d(d[0]),
.q()
);
end
endcase
endgenerate
endmodule
