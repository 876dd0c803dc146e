// alu_txn.svh - included by tb_pkg.sv; one class per file.

// One ALU operation with its operands.
class alu_txn;
    // Opcode, 0..3.
    rand bit [1:0]   op;
    // First operand.
    rand bit [W-1:0] a;
    // Second operand.
    rand bit [W-1:0] b;

    // Keep subtractions from underflowing so the log stays readable.
    constraint c_no_underflow { op == 2'd1 -> a >= b; }

    // Reference model: the result the DUT must produce.
    virtual function bit [W-1:0] expected();
        case (op)
            2'd0:    return a + b;
            2'd1:    return a - b;
            2'd2:    return a & b;
            default: return a ^ b;
        endcase
    endfunction

    // One-line description for the log.
    virtual function string describe();
        return $sformatf("op=%0d a=%0h b=%0h", op, a, b);
    endfunction
endclass : alu_txn
