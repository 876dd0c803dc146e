module t (
    input  logic a,
    output logic b
);
    always_comb begin
        if (a)
            b = 1'b1;
        else
            b = 1'b0;
    end
endmodule
