// FSM with assertions.
module fsm (
    input  logic clk,
    input  logic rst_n,
    input  logic start,
    input  logic done,
    output logic busy
);
    typedef enum logic [1:0] {IDLE, RUN, WAIT, FINISH} state_t;
    state_t state, state_n;

    always_ff @(posedge clk or negedge rst_n)
        if (!rst_n) state <= IDLE;
        else        state <= state_n;

    always_comb begin
        state_n = state;
        case (state)
            IDLE:   if (start) state_n = RUN;
            RUN:    state_n = done ? FINISH : WAIT;
            WAIT:   if (done) state_n = FINISH;
            FINISH: state_n = IDLE;
            default: state_n = IDLE;
        endcase
    end

    assign busy = (state != IDLE);

`ifndef SYNTHESIS
    // the FSM never stays in FINISH
    a_finish: assert property (@(posedge clk) disable iff (!rst_n) state == FINISH |=> state == IDLE)
        else $error("stuck in FINISH");
    c_run: cover property (@(posedge clk) state == RUN);
    always @(posedge clk) begin
        if (rst_n) assert (state inside {IDLE, RUN, WAIT, FINISH}) else $fatal(1, "bad state");
    end
`endif

    final $display("fsm done");
endmodule
