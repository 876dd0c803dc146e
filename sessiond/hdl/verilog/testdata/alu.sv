// ALU using the shared package.
import alu_pkg::*;

module alu
    import alu_pkg::req_t;
#(
    parameter int W = alu_pkg::DATA_W
) (
    input  logic         clk,
    input  logic         rst_n,
    input  req_t         req,
    input  logic         valid,
    output logic [W-1:0] result,
    output logic         zero,
    output alu_pkg::data_t last
);
    logic [W-1:0] next_result;
    logic [W:0]   wide;
    logic         latch_q;
    int unsigned  ops_done;
    logic [3:0]   nib [2];
    word_u        w;

    always_comb begin
        next_result = '0;
        wide = '0;
        unique case (req.op)
            OP_ADD: begin
                wide = {1'b0, req.a} + {1'b0, req.b};
                next_result = wide[W-1:0];
            end
            OP_SUB:  next_result = req.a - req.b;
            OP_AND:  next_result = req.a & req.b;
            default: next_result = req.a | req.b;
        endcase
        if (req.a inside {[8'd0:8'd3], 8'hFF}) next_result = next_result ^ 8'h01;
    end

    always_ff @(posedge clk or negedge rst_n) begin
        if (!rst_n) begin
            result   <= '0;
            ops_done <= 0;
            last     <= '1;
        end else if (valid) begin
            result   <= next_result;
            ops_done <= ops_done + 1;
            last     <= add(req.a, req.b);
        end
    end

    always_latch begin
        if (valid) latch_q = parity(req.a);
    end

    assign zero = (result == '0) ? 1'b1 : 1'b0;
    assign nib[0] = result[3:0];
    assign nib[1] = result[W-1-:4];
    assign w.word = {result, result};

    function automatic int count_ones(logic [W-1:0] v);
        int n = 0;
        foreach (v[i]) begin
            if (v[i]) n += 1;
        end
        return n;
    endfunction

    logic [7:0] rev;
    always_comb begin
        int k;
        k = 0;
        rev = {<<{result}};
        do begin
            k++;
        end while (k < 3);
        for (int j = 0; j < 4; j++) begin
            if (j == 2) continue;
            if (j == 3) break;
        end
    end

    logic [7:0] casted;
    assign casted = 8'(signed'(result) >>> 1);
endmodule
