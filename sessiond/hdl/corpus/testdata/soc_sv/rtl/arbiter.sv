// arbiter.sv - grants one of several masters access to a slave bus.
`include "soc_macros.svh"

// N-to-1 bus arbiter. POLICY selects fixed priority (0, lowest index wins)
// or round robin (1). With a single master it degenerates to a wire.
module arbiter
    import bus_pkg::*;
#(
    // Number of masters.
    parameter int unsigned NUM_M = 2,
    // Arbitration policy: 0 fixed priority, 1 round robin.
    parameter int unsigned POLICY = 1
) (
    // Clock.
    input  logic                  clk_i,
    // Synchronous active-low reset.
    input  logic                  rst_ni,
    // Requests from the masters, one per index.
    input  req_t [NUM_M-1:0]      m_req_i,
    // Responses to the masters.
    output rsp_t [NUM_M-1:0]      m_rsp_o,
    // Port to the slave.
    bus_if.master                 s_bus
);

    // Width of a master index.
    localparam int unsigned IDX_W = `SOC_IDX_W(NUM_M);

    // Master that owns the bus this cycle.
    logic [IDX_W-1:0] grant;

    generate
        if (NUM_M == 1) begin : g_single
            assign grant = '0;
        end else begin : g_multi
            // Masters with a transfer pending.
            logic [NUM_M-1:0] pending;
            for (genvar m = 0; m < NUM_M; m++) begin : g_pending
                assign pending[m] = (m_req_i[m].op != OP_IDLE);
            end

            case (POLICY)
                0: begin : g_fixed
                    // Lowest pending index wins.
                    always_comb begin
                        grant = '0;
                        for (int i = NUM_M - 1; i >= 0; i--) begin
                            if (pending[i]) grant = IDX_W'(i);
                        end
                    end
                end
                default: begin : g_rr
                    // Master granted last; search starts just after it.
                    logic [IDX_W-1:0] last_q;
                    // Next grant found by the search.
                    logic [IDX_W-1:0] next;
                    always_comb begin
                        next = last_q;
                        for (int k = NUM_M; k >= 1; k--) begin
                            if (pending[(int'(last_q) + k) % NUM_M]) begin
                                next = IDX_W'((int'(last_q) + k) % NUM_M);
                            end
                        end
                    end
                    assign grant = next;
                    `SOC_FF(last_q, next, '0)
                end
            endcase
        end
    endgenerate

    assign s_bus.req = m_req_i[grant];

    always_comb begin
        for (int i = 0; i < NUM_M; i++) begin
            m_rsp_o[i]       = '0;
            m_rsp_o[i].rdata = s_bus.rsp.rdata;
        end
        unique case (s_bus.rsp.ready)
            1'b1: begin
                m_rsp_o[grant].ready = 1'b1;
                m_rsp_o[grant].err   = s_bus.rsp.err;
            end
            1'b0: ;
        endcase
    end

endmodule : arbiter
