// More SystemVerilog statement and declaration forms.
import "DPI-C" function int c_add(input int a, input int b);

module sv_more #(parameter type T = logic [7:0], localparam int L = 2) (
    input  logic       clk,
    input  var logic   en,
    input  logic [7:0] din,
    output logic [7:0] dout = 8'd0,
    output logic [1:0] pair
);
    typedef logic [7:0] byte_t;
    typedef struct { int a; byte_t b; } rec_t;
    enum {S0, S1, S2} st;
    byte_t q [$:7];
    rec_t recs [2];
    logic signed [7:0] sx;
    wire logic wl;
    string name = "sv_more";
    bit [3:0] nib = 4'b1010;
    int counter;
    event ev;
    T tv;

    assign wl = en;
    assign {pair[1], pair[0]} = din[1:0];

    function automatic int add3(const ref int x, input int y = 3);
        return x + y;
    endfunction

    task automatic bump(ref int x);
        x <<= 1;
        x += 1;
    endtask

    always_ff @(posedge clk) begin : ff_blk
        unique0 case (din[1:0]) inside
            2'd0, [2'd1:2'd2]: st <= S1;
            default: st <= S0;
        endcase
        priority if (en) dout <= din;
        else dout <= dout;
        sx <= $signed(din) >>> 2;
    end : ff_blk

    always_comb begin
        tv = T'(din);
        counter = 0;
        for (int i = 0; i < 4; i++) begin
            if (din[i] inside {1'b1}) counter = counter + i;
        end
        casez (din)
            8'b1???_????: counter = counter + 1;
            default: ;
        endcase
    end

    initial begin
        automatic int k = 1;
        recs[0] = '{a: 1, b: 8'h2};
        recs[1] = '{default: 0};
        q.push_back(8'd1);
        bump(k);
        k = add3(k, 2) + c_add(k, 1);
        -> ev;
        $display("%s %0d %0t", name, k, $realtime);
    end

    initial begin
        @(ev);
        nib = nib ^ 4'hF;
    end

    logic tv_unused;
    generate
        if (L == 2) begin : g_two
            assign tv_unused = 1'b0;
        end
    endgenerate
endmodule
