// soc_macros.svh - helper macros shared by the SoC RTL.
`ifndef SOC_MACROS_SVH
`define SOC_MACROS_SVH

// Flip-flop with synchronous active-low reset to a given value.
`define SOC_FF(q, d, rst_val) \
    always_ff @(posedge clk_i) begin \
        if (!rst_ni) q <= (rst_val); \
        else q <= (d); \
    end

// Number of bits needed to index n items (at least 1).
`define SOC_IDX_W(n) (((n) > 1) ? $clog2(n) : 1)

`endif
