module t (
input logic a,
output logic [7:0]    b
);
wire [7:0]  x;
reg y;
sub u (
.a(a),
.bb (b)
);
endmodule
