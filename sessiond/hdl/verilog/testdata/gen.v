// Generate constructs and instantiation forms.
module adder #(parameter W = 4) (input [W-1:0] a, input [W-1:0] b, output [W:0] s);
    assign s = a + b;
endmodule

module lane (input clk, input d, output reg q);
    always @(posedge clk) q <= d;
endmodule

module gen #(parameter N = 4, parameter MODE = 1) (
    input clk,
    input [N-1:0] d,
    output [N-1:0] q,
    output [4:0] sum,
    output [8:0] sum8
);
    genvar i;
    generate
        for (i = 0; i < N; i = i + 1) begin : g_lane
            wire t;
            assign t = d[i];
            lane u_lane (.clk(clk), .d(t), .q(q[i]));
        end
    endgenerate

    generate
        if (MODE == 1) begin : g_add
            adder #(.W(4)) u_add (.a(d), .b(q), .s(sum));
        end else begin : g_noadd
            assign sum = 5'd0;
        end
    endgenerate

    case (MODE)
        0: begin : g_m0
            wire z = 1'b0;
        end
        default: begin : g_mx
            wire z = 1'b1;
        end
    endcase

    adder #(8) u_add8 (d, d, sum8[4:0]);
    wire [3:0] unused_s;
    adder u_a (.a(4'd1), .b(4'd2), .s());
    lane l0 (.clk(clk), .d(d[0]), .q()), l1 (.clk(clk), .d(d[1]), .q());
endmodule
