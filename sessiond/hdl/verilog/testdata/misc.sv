// Functions, tasks, named blocks and miscellaneous statements.
module misc (
    input  logic       clk,
    input  logic [7:0] a,
    output logic [7:0] y
);
    logic [7:0] acc;
    logic [7:0] tmp;
    int         cnt;

    function automatic logic [7:0] sat_add(input logic [7:0] x, input logic [7:0] z = 8'd1);
        logic [8:0] s;
        s = x + z;
        return s[8] ? 8'hFF : s[7:0];
    endfunction

    function void bump_count();
        cnt = cnt + 1;
    endfunction

    task automatic accumulate(input logic [7:0] v, output logic [7:0] r);
        r = sat_add(acc, v);
    endtask

    always_ff @(posedge clk) begin : seq_blk
        logic [7:0] t;
        accumulate(a, t);
        acc <= t;
    end : seq_blk

    always_comb begin : comb_blk
        tmp = acc;
        tmp[0] = ~tmp[0];
        tmp = tmp << 1;
        tmp |= 8'h80;
        y = tmp;
    end

    initial begin
        cnt = 0;
        bump_count();
        void'(sat_add(8'd3));
    end
endmodule
