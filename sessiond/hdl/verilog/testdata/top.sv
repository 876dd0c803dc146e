// Instantiation forms: named, positional, implicit .name, .*, arrays.
module leaf #(parameter int W = 1, parameter type T = logic) (
    input  logic         clk,
    input  logic [W-1:0] d,
    output logic [W-1:0] q
);
    T unused_t;
    assign unused_t = '0;
    always_ff @(posedge clk) q <= d;
endmodule

module top (
    input  logic       clk,
    input  logic [7:0] d,
    output logic [7:0] q,
    output logic [3:0] qa,
    output logic [1:0] qb
);
    logic [7:0] mid;
    leaf #(.W(8), .T(logic [3:0])) u0 (.clk(clk), .d(d), .q(mid));
    leaf #(8) u1 (clk, mid, q);
    leaf u_arr [3:0] (.clk(clk), .d(d[3:0]), .q(qa));
    leaf #(.W(1)) u_b0 (.clk, .d(d[4]), .q(qb[0])), u_b1 (.*, .d(d[5]), .q(qb[1]));
endmodule
