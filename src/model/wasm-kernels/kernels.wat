;; kdsearch's SIMD kernels for the tfjs wasm backend.
;;
;; They run on the backend's own linear memory (imported), so they read and
;; write tensors in place: every address below is a byte offset of a tensor
;; in that memory, every tensor float32 and NHWC unless a comment says
;; otherwise. Shapes and preconditions are checked by the TypeScript callers
;; (src/model/wasm-kernels/simd.ts); these functions trust them.
;;
;; Build: npm run build:wat (writes simd-binary.ts); test/wasm-simd.test.ts
;; fails when simd-binary.ts is not the build of this file.
(module
  (import "env" "memory" (memory 1))

  ;; dst[0..n) = src[0..n), n floats, 4 at a time then one at a time.
  (func $copy (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (block $vectors_done
      (loop $vectors
        (br_if $vectors_done (i32.gt_u (i32.add (local.get $dst) (i32.const 16)) (local.get $end)))
        (v128.store (local.get $dst) (v128.load (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (br $vectors)))
    (block $done
      (loop $scalars
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst) (f32.load (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (br $scalars))))

  ;; dst[0..n) = 0, n floats.
  (func $zero (param $dst i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (block $vectors_done
      (loop $vectors
        (br_if $vectors_done (i32.gt_u (i32.add (local.get $dst) (i32.const 16)) (local.get $end)))
        (v128.store (local.get $dst) (v128.const i32x4 0 0 0 0))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $vectors)))
    (block $done
      (loop $scalars
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst) (f32.const 0))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $scalars))))

  ;; The transposed im2col matrix of a stride-1 convolution, for its filter
  ;; gradient: row (i*fw + j)*C + c, column (b*OH + oy)*OW + ox holds
  ;; x[b, oy+i-top, ox+j-left, c], or 0 outside the input. The input comes
  ;; channel-major, xt[c, b, y, x], so every output row is a few runs of
  ;; contiguous floats: vector copies, not a gather.
  (func (export "im2col_t")
    (param $xt i32) (param $dst i32) (param $C i32) (param $B i32) (param $H i32) (param $W i32)
    (param $OH i32) (param $OW i32) (param $fh i32) (param $fw i32) (param $top i32) (param $left i32)
    (local $i i32) (local $j i32) (local $c i32) (local $b i32) (local $oy i32) (local $y i32)
    (local $lo i32) (local $hi i32) (local $plane i32)
    (local.set $i (i32.const 0))
    (loop $taps_i
      (local.set $j (i32.const 0))
      (loop $taps_j
        ;; output columns [lo, hi) of a row read inside the input
        (local.set $lo (i32.sub (local.get $left) (local.get $j)))
        (if (i32.lt_s (local.get $lo) (i32.const 0)) (then (local.set $lo (i32.const 0))))
        (if (i32.gt_s (local.get $lo) (local.get $OW)) (then (local.set $lo (local.get $OW))))
        (local.set $hi (i32.add (local.get $W) (i32.sub (local.get $left) (local.get $j))))
        (if (i32.gt_s (local.get $hi) (local.get $OW)) (then (local.set $hi (local.get $OW))))
        (if (i32.lt_s (local.get $hi) (local.get $lo)) (then (local.set $hi (local.get $lo))))
        (local.set $c (i32.const 0))
        (loop $channels
          (local.set $b (i32.const 0))
          (loop $batch
            ;; float index of xt[c, b, 0, 0]
            (local.set $plane (i32.mul (i32.add (i32.mul (local.get $c) (local.get $B)) (local.get $b))
                                       (i32.mul (local.get $H) (local.get $W))))
            (local.set $oy (i32.const 0))
            (loop $rows
              (local.set $y (i32.sub (i32.add (local.get $oy) (local.get $i)) (local.get $top)))
              (if (i32.or (i32.lt_s (local.get $y) (i32.const 0)) (i32.ge_s (local.get $y) (local.get $H)))
                (then (call $zero (local.get $dst) (local.get $OW)))
                (else
                  (call $zero (local.get $dst) (local.get $lo))
                  (call $copy
                    (i32.add (local.get $dst) (i32.shl (local.get $lo) (i32.const 2)))
                    (i32.add (local.get $xt)
                      (i32.shl
                        (i32.add (local.get $plane)
                          (i32.add (i32.mul (local.get $y) (local.get $W))
                                   (i32.sub (i32.add (local.get $lo) (local.get $j)) (local.get $left))))
                        (i32.const 2)))
                    (i32.sub (local.get $hi) (local.get $lo)))
                  (call $zero (i32.add (local.get $dst) (i32.shl (local.get $hi) (i32.const 2)))
                              (i32.sub (local.get $OW) (local.get $hi)))))
              (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $OW) (i32.const 2))))
              (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
              (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br_if $batch (i32.lt_s (local.get $b) (local.get $B))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br_if $channels (i32.lt_s (local.get $c) (local.get $C))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $taps_j (i32.lt_s (local.get $j) (local.get $fw))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $taps_i (i32.lt_s (local.get $i) (local.get $fh)))))

  ;; Gradient of a 2x2, stride-2, unpadded max pool: each window's output
  ;; gradient goes to its first maximum in row order (the cpu backend's tie
  ;; rule), 4 channels at a time with compare masks instead of branches.
  ;; x [B, H, W, C], g [B, OH, OW, C], dx [B, H, W, C]; C a multiple of 4;
  ;; OH <= H/2, OW <= W/2 (pixels no window covers get 0).
  (func (export "max_pool_grad_2x2")
    (param $x i32) (param $g i32) (param $dx i32) (param $B i32) (param $H i32) (param $W i32)
    (param $C i32) (param $OH i32) (param $OW i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $k i32) (local $cBytes i32) (local $rowBytes i32)
    (local $corner i32) (local $at i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $t1 v128) (local $t3 v128) (local $tb v128) (local $gv v128) (local $top v128) (local $bottom v128)
    (call $zero (local.get $dx) (i32.mul (i32.mul (local.get $B) (local.get $H)) (i32.mul (local.get $W) (local.get $C))))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $W) (local.get $cBytes)))
    (if (i32.or (i32.eqz (local.get $OH)) (i32.eqz (local.get $OW))) (then (return)))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $oy (i32.const 0))
      (loop $rows
        (local.set $ox (i32.const 0))
        (loop $cols
          ;; byte offset of pixel (b, 2*oy, 2*ox, 0) in x and dx
          (local.set $corner
            (i32.mul
              (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H)) (i32.shl (local.get $oy) (i32.const 1))) (local.get $W))
                       (i32.shl (local.get $ox) (i32.const 1)))
              (local.get $cBytes)))
          (local.set $k (i32.const 0))
          (loop $channels
            (local.set $at (i32.add (local.get $x) (i32.add (local.get $corner) (local.get $k))))
            (local.set $v0 (v128.load (local.get $at)))
            (local.set $v1 (v128.load (i32.add (local.get $at) (local.get $cBytes))))
            (local.set $v2 (v128.load (i32.add (local.get $at) (local.get $rowBytes))))
            (local.set $v3 (v128.load (i32.add (local.get $at) (i32.add (local.get $rowBytes) (local.get $cBytes)))))
            (local.set $t1 (f32x4.gt (local.get $v1) (local.get $v0)))
            (local.set $t3 (f32x4.gt (local.get $v3) (local.get $v2)))
            (local.set $tb (f32x4.gt (v128.bitselect (local.get $v3) (local.get $v2) (local.get $t3))
                                     (v128.bitselect (local.get $v1) (local.get $v0) (local.get $t1))))
            (local.set $gv (v128.load (local.get $g)))
            (local.set $g (i32.add (local.get $g) (i32.const 16)))
            (local.set $top (v128.andnot (local.get $gv) (local.get $tb)))
            (local.set $bottom (v128.and (local.get $gv) (local.get $tb)))
            (local.set $at (i32.add (local.get $dx) (i32.add (local.get $corner) (local.get $k))))
            (v128.store (local.get $at) (v128.andnot (local.get $top) (local.get $t1)))
            (v128.store (i32.add (local.get $at) (local.get $cBytes)) (v128.and (local.get $top) (local.get $t1)))
            (v128.store (i32.add (local.get $at) (local.get $rowBytes)) (v128.andnot (local.get $bottom) (local.get $t3)))
            (v128.store (i32.add (local.get $at) (i32.add (local.get $rowBytes) (local.get $cBytes)))
                        (v128.and (local.get $bottom) (local.get $t3)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br_if $channels (i32.lt_u (local.get $k) (local.get $cBytes))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; Filter gradient of a depthwise convolution with channel multiplier 1:
  ;; dw[i, j, c] = sum over b, oy, ox of xp[b, oy*sh+i, ox*sw+j, c] * dy[b, oy, ox, c],
  ;; with xp the input already padded (so no bounds checks); C a multiple of 4.
  (func (export "depthwise_filter_grad")
    (param $xp i32) (param $dy i32) (param $dw i32) (param $B i32) (param $Hp i32) (param $Wp i32)
    (param $C i32) (param $OH i32) (param $OW i32) (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $i i32) (local $j i32) (local $k i32)
    (local $cBytes i32) (local $xAt i32) (local $wAt i32) (local $g i32)
    (call $zero (local.get $dw) (i32.mul (i32.mul (local.get $fh) (local.get $fw)) (local.get $C)))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $g (local.get $dy))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $oy (i32.const 0))
      (loop $rows
        (local.set $ox (i32.const 0))
        (loop $cols
          (local.set $i (i32.const 0))
          (loop $taps_i
            (local.set $j (i32.const 0))
            (loop $taps_j
              (local.set $xAt
                (i32.add (local.get $xp)
                  (i32.mul
                    (i32.add
                      (i32.mul (i32.add (i32.mul (local.get $b) (local.get $Hp))
                                        (i32.add (i32.mul (local.get $oy) (local.get $sh)) (local.get $i)))
                               (local.get $Wp))
                      (i32.add (i32.mul (local.get $ox) (local.get $sw)) (local.get $j)))
                    (local.get $cBytes))))
              (local.set $wAt (i32.add (local.get $dw)
                (i32.mul (i32.add (i32.mul (local.get $i) (local.get $fw)) (local.get $j)) (local.get $cBytes))))
              (local.set $k (i32.const 0))
              (loop $channels
                (v128.store (i32.add (local.get $wAt) (local.get $k))
                  (f32x4.add (v128.load (i32.add (local.get $wAt) (local.get $k)))
                             (f32x4.mul (v128.load (i32.add (local.get $xAt) (local.get $k)))
                                        (v128.load (i32.add (local.get $g) (local.get $k))))))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br_if $channels (i32.lt_u (local.get $k) (local.get $cBytes))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br_if $taps_j (i32.lt_s (local.get $j) (local.get $fw))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $taps_i (i32.lt_s (local.get $i) (local.get $fh))))
          (local.set $g (i32.add (local.get $g) (local.get $cBytes)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; out[c] = sum over r of x[r, c]: a bias gradient (x [rows, C]); C a multiple of 4.
  (func (export "sum_rows") (param $x i32) (param $out i32) (param $rows i32) (param $C i32)
    (local $r i32) (local $k i32) (local $cBytes i32)
    (call $zero (local.get $out) (local.get $C))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (if (i32.eqz (local.get $rows)) (then (return)))
    (local.set $r (i32.const 0))
    (loop $rows_loop
      (local.set $k (i32.const 0))
      (loop $channels
        (v128.store (i32.add (local.get $out) (local.get $k))
          (f32x4.add (v128.load (i32.add (local.get $out) (local.get $k)))
                     (v128.load (i32.add (local.get $x) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br_if $channels (i32.lt_u (local.get $k) (local.get $cBytes))))
      (local.set $x (i32.add (local.get $x) (local.get $cBytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $rows_loop (i32.lt_s (local.get $r) (local.get $rows)))))
)
