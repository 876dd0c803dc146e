// wrapper.v - Verilog top for a board that only has one LED, reusing the
// VHDL counter (vhdl/counter.vhd) as a module.

// Single-LED blinker: the VHDL counter's top bits drive a PWM duty.
module wrapper (
    // Board clock.
    input  wire clk,
    // Active-high reset.
    input  wire rst,
    // The LED.
    output wire led
);

    // Width of the VHDL counter; its top 8 bits are the duty value.
    localparam integer CNT_WIDTH = 20;

    // Count of the VHDL counter.
    wire [CNT_WIDTH-1:0] count;
    // Wrap pulse, unused by this board.
    wire                 wrap_unused;
    // The counter's low bits only slow the ramp down; mark them as used on purpose.
    wire                 low_bits_unused = &{1'b0, count[CNT_WIDTH-9:0]};

    // VHDL entity work.counter, instantiated by name.
    counter #(
        .WIDTH(CNT_WIDTH),
        .INIT (0)
    ) u_counter (
        .clk  (clk),
        .rst  (rst),
        .en   (1'b1),
        .down (1'b0),
        .count(count),
        .wrap (wrap_unused)
    );

    // PWM on the counter's top byte gives a sawtooth brightness.
    pwm #(
        .WIDTH(8)
    ) u_pwm (
        .clk (clk),
        .rst (rst),
        .duty(count[CNT_WIDTH-1 -: 8]),
        .q   (led)
    );

endmodule
