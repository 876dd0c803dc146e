// regs.sv - small register file slave.
`include "soc_macros.svh"

// Register file with DEPTH words, answering reads and writes in one cycle.
module regs
    import bus_pkg::*;
#(
    // Number of 32-bit registers.
    parameter int unsigned DEPTH = 4,
    // Reset value of every register.
    parameter data_t RESET_VAL = '0
) (
    // Clock.
    input  logic clk_i,
    // Synchronous active-low reset.
    input  logic rst_ni,
    // Bus slave port.
    bus_if.slave bus
);

    // Width of a register index.
    localparam int unsigned IDX_W = `SOC_IDX_W(DEPTH);

    // Register storage.
    data_t mem_q [DEPTH];
    // Read data returned in the next cycle.
    data_t rdata_q, rdata_d;
    // Error flag for the response.
    logic err_q, err_d;
    // Ready flag for the response.
    logic ready_q, ready_d;

    // Index addressed by the current request.
    addr_t idx;
    assign idx = word_index(bus.req.addr);

    always_comb begin
        rdata_d = rdata_q;
        err_d   = 1'b0;
        ready_d = 1'b0;
        unique case (bus.req.op)
            OP_READ: begin
                ready_d = 1'b1;
                if (idx < addr_t'(DEPTH)) rdata_d = mem_q[idx[IDX_W-1:0]];
                else err_d = 1'b1;
            end
            OP_WRITE: begin
                ready_d = 1'b1;
                err_d   = (idx >= addr_t'(DEPTH));
            end
            default: ;
        endcase
    end

    always_ff @(posedge clk_i) begin
        if (!rst_ni) begin
            for (int i = 0; i < int'(DEPTH); i++) mem_q[i] <= RESET_VAL;
        end else if (bus.req.op == OP_WRITE && idx < addr_t'(DEPTH)) begin
            mem_q[idx[IDX_W-1:0]] <= bus.req.wdata;
        end
    end

    `SOC_FF(rdata_q, rdata_d, '0)
    `SOC_FF(err_q, err_d, 1'b0)
    `SOC_FF(ready_q, ready_d, 1'b0)

    assign bus.rsp.ready = ready_q;
    assign bus.rsp.err   = err_q;
    assign bus.rsp.rdata = rdata_q;

endmodule : regs
